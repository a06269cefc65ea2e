# cell: padding_solution
# Never checks that S divides W: for W=33, S=2 it returns the P that gives 33 // 2 = 16 instead of None.
def conv_out_size(W: int, K: int, S: int, P: int) -> int:
    """Output width of a convolution: floor((W + 2P - K) / S) + 1."""
    if K <= 0 or S <= 0 or P < 0:
        raise ValueError(f"need K > 0, S > 0 and P >= 0, got K={K}, S={S}, P={P}")
    if W + 2 * P < K:
        raise ValueError(f"the kernel ({K}) does not fit in the padded input ({W} + 2*{P})")
    return (W + 2 * P - K) // S + 1


def solve_padding(W: int, K: int, S: int) -> int | None:
    """Smallest P >= 0 with conv_out_size(W, K, S, P) == W / S, or None if there is none."""
    for P in range(0, K // 2 + 1):
        if W + 2 * P >= K and conv_out_size(W, K, S, P) == W // S:
            return P
    return None
