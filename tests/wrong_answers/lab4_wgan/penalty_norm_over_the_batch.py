# cell: penalty_solution
# one norm over the whole batch's gradient instead of one per sample
def gradient_penalty(critic, real, fake, gp_lambda=10.0):
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return gp_lambda * (grad.norm(2) - 1) ** 2
