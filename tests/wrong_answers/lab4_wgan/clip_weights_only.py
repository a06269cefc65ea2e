# cell: clip_solution
# clips the weight matrices only, not the biases
def clip_weights(critic, clip_value):
    with torch.no_grad():
        for name, p in critic.named_parameters():
            if name.endswith("weight"):
                p.clamp_(-clip_value, clip_value)
