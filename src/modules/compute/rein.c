/*
 * rein.c — direction from sustained yaw rate.
 *
 * A window whose mean rate about the vertical exceeds COMPUTE_REIN_THRESHOLD
 * (0.08 rad/s ≈ 4.6 °/s: a 20 m circle at walk turns at ~0.16 rad/s) is on
 * the left rein (positive yaw = turning left), below its negative on the
 * right rein, else straight.  Only moving time is counted (aggregate.c).
 */
#include "compute-internal.h"

int compute_rein_class(double yaw_rate)
{
    if (yaw_rate > COMPUTE_REIN_THRESHOLD)
        return 1;
    if (yaw_rate < -COMPUTE_REIN_THRESHOLD)
        return -1;
    return 0;
}

double compute_rein_balance(double left_s, double right_s)
{
    double sum = left_s + right_s;
    return sum > 0 ? (left_s - right_s) / sum : 0;
}
