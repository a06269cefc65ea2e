# cell: step_solution
# the generator steps after every critic update (n_critic generator updates per call)
def wgan_step(gen, critic, opt_g, opt_c, next_real, next_z, n_critic=5, clip_value=None, gp_lambda=0.0):
    for _ in range(n_critic):
        real = next_real()
        with torch.no_grad():
            fake = gen(next_z())
        real_scores, fake_scores = critic(real), critic(fake)
        loss = critic_loss(real_scores, fake_scores)
        if gp_lambda > 0:
            loss = loss + gradient_penalty(critic, real, fake, gp_lambda)
        opt_c.zero_grad()
        loss.backward()
        opt_c.step()
        if clip_value is not None:
            clip_weights(critic, clip_value)
        opt_g.zero_grad()
        g_loss = generator_loss(critic(gen(next_z())))
        g_loss.backward()
        opt_g.step()
    w = real_scores.mean() - fake_scores.mean()
    return {"critic": loss.detach(), "G": g_loss.detach(), "W": w.detach()}
