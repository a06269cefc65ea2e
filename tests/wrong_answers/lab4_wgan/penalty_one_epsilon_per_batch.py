# cell: penalty_solution
# one epsilon for the whole batch instead of one per sample
def gradient_penalty(critic, real, fake, gp_lambda=10.0):
    eps = torch.rand(1, device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return gp_lambda * ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
