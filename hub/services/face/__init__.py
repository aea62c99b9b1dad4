"""Face check-in at the hub: encrypted gallery, enrolment, recognition, terminal sync, erasure."""
