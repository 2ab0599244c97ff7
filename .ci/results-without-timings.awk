# Prints a pretty-printed results.json (RobustFineTune) without the fields that differ between
# two runs of the same computation: timings (secondsPerStep, pretrainSeconds, totalSeconds,
# as numbers or as {mean, std, values} objects) and how it was run (ranks, microBatches).
# Used by `make mpi-example-check`; needs only awk.
BEGIN { skipping = 0 }
{
    if (skipping) {
        if ($0 ~ "^" indent "[}\\]],?$") skipping = 0
        next
    }
    if ($0 ~ /"(secondsPerStep|pretrainSeconds|totalSeconds|ranks|microBatches)" : [{\[]$/) {
        match($0, /^ */); indent = substr($0, 1, RLENGTH); skipping = 1; next
    }
    if ($0 ~ /"(secondsPerStep|pretrainSeconds|totalSeconds|ranks|microBatches)" : /) next
    print
}
