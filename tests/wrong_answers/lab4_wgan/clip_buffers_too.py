# cell: clip_solution
# clamps the whole state dict, running statistics included
def clip_weights(critic, clip_value):
    with torch.no_grad():
        for t in critic.state_dict().values():
            if t.is_floating_point():
                t.clamp_(-clip_value, clip_value)
