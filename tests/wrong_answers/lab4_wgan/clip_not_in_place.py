# cell: clip_solution
# clamps copies: the critic's parameters are left as they were
def clip_weights(critic, clip_value):
    for p in critic.parameters():
        p = p.detach().clamp(-clip_value, clip_value)
