// Adam's element math, shared by the step-chain loops (graft_step_chain.c) and the loops that fuse
// the step with a robust member's reduction (graft_reduce.c), so that both compute the same IEEE
// operations in the same order (bitwise the Swift lanes, see graft_step_chain.h). Each macro works
// on a float or on a vector of floats (the constants splat): the order of operations is the text's.
#ifndef GRAFT_ADAM_MATH_H
#define GRAFT_ADAM_MATH_H

#include "graft_step_chain.h"

/// The incoming update after the chain's leading decay: mode 0 none, 1 `u + decay·θ`, 2
/// `u + decay·(θ − θ0)` (θ0 given by `ANCHOR`, only evaluated in mode 2).
#define GRAFT_PRE_DECAY(U, T, ANCHOR, DECAY, MODE) \
    ((MODE) == 1 ? (U) + (DECAY) * (T) : (MODE) == 2 ? (U) + (DECAY) * ((T) - (ANCHOR)) : (U))

/// Adam's new first moment β1·m + c1·u.
#define GRAFT_ADAM_FIRST(K, M, U) ((K).beta1 * (M) + (K).c1 * (U))
/// Adam's new second moment β2·v + (c2·u)·u.
#define GRAFT_ADAM_SECOND(K, V, U) ((K).beta2 * (V) + (K).c2 * (U) * (U))
/// Adam's direction from the new moments, (m·inv_bc1) / (√v·inv_sqrt_bc2 + ε), then the decoupled
/// decay `+ post_decay·θ` when `POST`: the update before the chain's scale.
#define GRAFT_ADAM_DIRECTION(K, MI, VI, T, POST) \
    ((POST) ? ((MI) * (K).inv_bc1) / (__builtin_elementwise_sqrt(VI) * (K).inv_sqrt_bc2 + (K).epsilon) + (K).post_decay * (T) \
            : ((MI) * (K).inv_bc1) / (__builtin_elementwise_sqrt(VI) * (K).inv_sqrt_bc2 + (K).epsilon))

#endif
