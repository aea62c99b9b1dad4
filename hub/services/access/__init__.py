"""Door access: groups and weekly schedules deciding who may open which door when."""
