# cell: step_solution
# reconstructs x with G again instead of F (the cycle on the wrong pair)
def cyclegan_step(g_xy, g_yx, d_x, d_y, opt_g, opt_d, x, y, *, lambda_cycle, lambda_identity,
                  d_loss_fn, g_loss_fn, cycle_loss_fn, identity_loss_fn):
    fake_y, fake_x = g_xy(x), g_yx(y)
    for p in [*d_x.parameters(), *d_y.parameters()]:
        p.requires_grad_(False)
    adv = g_loss_fn(d_y(fake_y)) + g_loss_fn(d_x(fake_x))
    cyc = cycle_loss_fn(x, g_xy(fake_y)) + cycle_loss_fn(y, g_yx(fake_x))
    total = adv + lambda_cycle * cyc
    idt = torch.zeros((), device=x.device)
    if lambda_identity > 0:
        idt = identity_loss_fn(y, g_xy(y)) + identity_loss_fn(x, g_yx(x))
        total = total + lambda_identity * idt
    opt_g.zero_grad()
    total.backward()
    opt_g.step()
    for p in [*d_x.parameters(), *d_y.parameters()]:
        p.requires_grad_(True)
    loss_dx = d_loss_fn(d_x(x), d_x(fake_x.detach()))
    loss_dy = d_loss_fn(d_y(y), d_y(fake_y.detach()))
    opt_d.zero_grad()
    (loss_dx + loss_dy).backward()
    opt_d.step()
    return {"G": adv.detach(), "cycle": cyc.detach(), "identity": idt.detach(), "D_X": loss_dx.detach(), "D_Y": loss_dy.detach()}
