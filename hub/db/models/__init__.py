"""All ORM models; importing this package registers every table on Base.metadata.

Each feature keeps its tables in its own module; add the module to the import list below.
"""

from hub.db.models import access as access
from hub.db.models import attendance as attendance
from hub.db.models import core as core
from hub.db.models import fleet as fleet
from hub.db.models import people as people
from hub.db.models import printing as printing
