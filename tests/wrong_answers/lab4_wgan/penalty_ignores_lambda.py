# cell: penalty_solution
# lambda fixed at 10 whatever gp_lambda says
def gradient_penalty(critic, real, fake, gp_lambda=10.0):
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return 10.0 * ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
