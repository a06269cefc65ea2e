# cell: init_solution
# Answers the initialisation with labutils' reference, reached through an alias of the models module.
from labutils import models as _m

dcgan_init = _m.dcgan_init
