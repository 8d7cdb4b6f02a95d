/*
 * rein.c — direction from sustained yaw rate.
 *
 * A window whose mean rate about the vertical exceeds the rein_rate option
 * (0.045 rad/s ≈ 2.6 °/s by default) is on the left rein (positive yaw = turning left),
 * below its negative on the right rein, else straight.  The slowest circle
 * is a slow walk (0.7 strides/s of ~1.6 m, 1.1 m/s) on a 20 m radius:
 * 0.056 rad/s, above it.  The gyro's bias about the vertical, as measured
 * at the last standstill, is taken off first (aggregate.c).  Only moving
 * time is counted.
 */
#include "compute-internal.h"

int compute_rein_class(double yaw_rate, double rate)
{
    if (yaw_rate > rate)
        return 1;
    if (yaw_rate < -rate)
        return -1;
    return 0;
}

double compute_rein_balance(double left_s, double right_s)
{
    double sum = left_s + right_s;
    return sum > 0 ? (left_s - right_s) / sum : 0;
}
