/*
 * columns.c — which canonical column a header cell names, and what unit the
 * name states.  Real exports spell columns many ways: "t", "timestamp",
 * "time_ms", "acc_x", "Accel X (g)", "gyroZ[deg/s]", "x_acc" …
 */
#include <string.h>

#include "compute-internal.h"

const char *const compute_col_names[COMPUTE_NCOLS] = {
    "time", "ax", "ay", "az", "gx", "gy", "gz"
};

static int has(const char *s, const char *w)
{
    return strstr(s, w) != NULL;
}

static int eq(const char *s, const char *w)
{
    return strcmp(s, w) == 0;
}

int compute_column_classify(const char *name, size_t len, compute_unit *unit)
{
    char raw[96], base[96], unitpart[96];
    size_t n = 0, nb = 0, nu = 0;
    int in_unit = 0;

    *unit = COMPUTE_UNIT_AUTO;
    /* lower-case; split "name (unit)" / "name[unit]" */
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c == '(' || c == '[') {
            in_unit = 1;
            continue;
        }
        if (c == ')' || c == ']') {
            in_unit = 0;
            continue;
        }
        if (c == '"' || c == ' ' || c == '\t')
            continue;
        if (in_unit) {
            if (nu + 1 < sizeof unitpart)
                unitpart[nu++] = c;
        } else if (n + 1 < sizeof raw) {
            raw[n++] = c;
        }
    }
    raw[n] = 0;
    unitpart[nu] = 0;

    /* unit suffixes written into the name: time_ms, acc_x_g, gyro_x_dps */
    static const struct { const char *suf; compute_unit u; } sufs[] = {
        { "_ms", COMPUTE_TIME_MS }, { "_s", COMPUTE_TIME_S }, { "_sec", COMPUTE_TIME_S },
        { "_g", COMPUTE_ACCEL_G }, { "_mg", COMPUTE_ACCEL_MG }, { "_ms2", COMPUTE_ACCEL_MS2 }, { "_mps2", COMPUTE_ACCEL_MS2 },
        { "_m/s2", COMPUTE_ACCEL_MS2 }, { "_m/s^2", COMPUTE_ACCEL_MS2 },
        { "_dps", COMPUTE_GYRO_DEGS }, { "_deg", COMPUTE_GYRO_DEGS }, { "_degs", COMPUTE_GYRO_DEGS },
        { "_deg/s", COMPUTE_GYRO_DEGS }, { "_rad", COMPUTE_GYRO_RADS }, { "_rads", COMPUTE_GYRO_RADS },
        { "_rad/s", COMPUTE_GYRO_RADS }, { NULL, COMPUTE_UNIT_AUTO }
    };
    compute_unit named = COMPUTE_UNIT_AUTO;
    for (int i = 0; sufs[i].suf; i++) {
        size_t sl = strlen(sufs[i].suf);
        if (n > sl + 1 && strcmp(raw + n - sl, sufs[i].suf) == 0) {
            named = sufs[i].u;
            n -= sl;
            raw[n] = 0;
            break;
        }
    }
    if (nu) {
        if (has(unitpart, "ms") && !has(unitpart, "/"))
            named = COMPUTE_TIME_MS;
        else if (eq(unitpart, "s") || eq(unitpart, "sec"))
            named = COMPUTE_TIME_S;
        else if (eq(unitpart, "g"))
            named = COMPUTE_ACCEL_G;
        else if (eq(unitpart, "mg"))
            named = COMPUTE_ACCEL_MG;
        else if (has(unitpart, "m/s"))
            named = COMPUTE_ACCEL_MS2;
        else if (has(unitpart, "deg") || has(unitpart, "dps") || has(unitpart, "\xc2\xb0"))
            named = COMPUTE_GYRO_DEGS;
        else if (has(unitpart, "rad"))
            named = COMPUTE_GYRO_RADS;
    }
    for (size_t i = 0; i < n; i++) {
        char c = raw[i];
        if (((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) && nb + 1 < sizeof base)
            base[nb++] = c;
    }
    base[nb] = 0;
    if (nb == 0)
        return -1;

    /* time */
    static const char *const times[] = {
        "t", "time", "timestamp", "ts", "seconds", "sec", "secs", "elapsed", "elapsedtime",
        "millis", "msec", "tms", "timems", "timestampms", "datetime", "timesec",
        "epoc", "epoch", "epochms", "unixtime", NULL
    };
    for (int i = 0; times[i]; i++) {
        if (!eq(base, times[i]))
            continue;
        if (named == COMPUTE_TIME_MS || eq(base, "millis") || eq(base, "msec") ||
            eq(base, "tms") || eq(base, "timems") || eq(base, "timestampms") || eq(base, "epochms"))
            *unit = COMPUTE_TIME_MS;
        else if (named == COMPUTE_TIME_S)
            *unit = COMPUTE_TIME_S;
        return COMPUTE_COL_T;
    }

    /* axis letter: last character, or first ("xacc") */
    char ax = base[nb - 1];
    char stem[96];
    size_t sl = 0;
    if (ax == 'x' || ax == 'y' || ax == 'z') {
        memcpy(stem, base, nb - 1);
        sl = nb - 1;
    } else if (base[0] == 'x' || base[0] == 'y' || base[0] == 'z') {
        ax = base[0];
        memcpy(stem, base + 1, nb - 1);
        sl = nb - 1;
    } else {
        return -1;
    }
    stem[sl] = 0;
    int axis = ax - 'x';

    /* a bare axis: "x" (phone apps' accelerometer files), "x-axis (g)" */
    if (sl == 0 || eq(stem, "axis")) {
        int rate = named == COMPUTE_GYRO_DEGS || named == COMPUTE_GYRO_RADS;
        if (named != COMPUTE_TIME_MS && named != COMPUTE_TIME_S)
            *unit = named;
        return COMPUTE_COL_BARE + (rate ? 3 : 0) + axis;
    }
    /* g-force columns (gFx): accelerations in g unless the name says more */
    if (eq(stem, "gf") || eq(stem, "gforce")) {
        *unit = named == COMPUTE_ACCEL_MS2 || named == COMPUTE_ACCEL_MG ? named : COMPUTE_ACCEL_G;
        return COMPUTE_COL_AX + axis;
    }
    int is_acc = eq(stem, "a") || eq(stem, "acc") || eq(stem, "accel") ||
                 has(stem, "accel") || has(stem, "acc") || eq(stem, "linacc") ||
                 eq(stem, "f");
    int is_gyr = eq(stem, "g") || eq(stem, "w") || eq(stem, "gyr") || has(stem, "gyr") ||
                 has(stem, "rot") || has(stem, "rate") || has(stem, "omega") ||
                 has(stem, "angvel") || has(stem, "angularvelocity");
    if (is_acc && !is_gyr) {
        if (named == COMPUTE_ACCEL_G || named == COMPUTE_ACCEL_MS2 || named == COMPUTE_ACCEL_MG)
            *unit = named;
        return COMPUTE_COL_AX + axis;
    }
    if (is_gyr) {
        if (named == COMPUTE_GYRO_DEGS || named == COMPUTE_GYRO_RADS)
            *unit = named;
        return COMPUTE_COL_GX + axis;
    }
    return -1;
}
