# DESIGN: bash completion for fsynclab: the subcommands, each subcommand's
# options (as `fsynclab --help` groups them), and the values of --strategies
# (a comma-separated list, completed item by item), --model, --sync-method,
# --dir and --out, and diff's two JSON files; crash --target's targets and
# settings, and record, image, journal and explore.  Plain bash (compgen, compopt), no bash-completion helpers,
# so that tests/e2e/completion.sh can source it anywhere.  That test fails,
# naming the option, when --help lists one this file does not offer.
# Installed as share/bash-completion/completions/fsynclab.

_fsynclab_common="--entry-size --sync-method --writers --prealloc --dir"
_fsynclab_bench="--entries --strategies --max-seconds --repeat --seconds --warmup --no-warmup
  --json $_fsynclab_common"
_fsynclab_crash="--trials --entries --model --seed --max-seconds --writeback-expire-ms
  --writeback-interval-ms --strategies --json $_fsynclab_common
  --target --set --run --check --seconds --cuts --keep --vm --check-timeout --fs --mount-opts
  --no-fail --junit --shard --timeline --timeline-trial --html --sector-size
  --fault"
_fsynclab_merge="--junit --no-fail"
_fsynclab_record="--root --journal --fault"
_fsynclab_image="--journal --snapshot --at --model --out --seed --sector-size"
_fsynclab_journal="--journal --summary"
_fsynclab_report="--html"
_fsynclab_explore="--target --set --run --check --ops --seconds --model --max-points --max-states
  --keep --check-timeout --dir --json --no-fail"
_fsynclab_curve="--out --intervals --entries --repeat --trials --model --seed $_fsynclab_common"

# Completes the last item of a comma-separated list in $cur from words $1.
_fsynclab_list()
{
    local prefix=""
    [[ $cur == *,* ]] && prefix=${cur%,*},
    COMPREPLY=($(compgen -P "$prefix" -W "$1" -- "${cur##*,}"))
    compopt -o nospace 2>/dev/null
}

_fsynclab()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev="" cmd="" i
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    # --opt=value arrives as three words, "--opt" "=" "value".
    if [[ $cur == = ]]; then
        cur=""
    elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    fi
    COMPREPLY=()

    case $prev in
    --strategies)
        _fsynclab_list "always group none batch_1ms batch_10ms batch_100ms batch_1000ms"
        return ;;
    --model)  # every preset of the engine with --target and for image; explore takes the base rules
        if [[ " ${COMP_WORDS[*]} " == *" explore "* ]]; then
            COMPREPLY=($(compgen -W "drop ext4 xfs btrfs" -- "$cur"))
        elif [[ " ${COMP_WORDS[*]} " == *" --target "* || " ${COMP_WORDS[*]} " == *" image "* ]]; then
            COMPREPLY=($(compgen -W "drop ext4 xfs btrfs torn reorder writeback process lie" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "drop torn reorder writeback process lie" -- "$cur"))
        fi
        return ;;
    --sector-size)
        COMPREPLY=($(compgen -W "512 4096" -- "$cur"))
        return ;;
    --target)
        COMPREPLY=($(compgen -W "redis sqlite postgres mariadb rocksdb lmdb contract" -- "$cur"))
        return ;;
    --set)
        COMPREPLY=($(compgen -W "appendfsync= fresh= journal_mode= synchronous= synchronous_commit=
          wal_writer_delay= promise= promised_window_ms= data_sync_retry= on_fsync_error=" -- "$cur"))
        compopt -o nospace 2>/dev/null
        return ;;
    --root | --snapshot)
        COMPREPLY=($(compgen -d -- "$cur"))
        compopt -o filenames 2>/dev/null
        return ;;
    --journal)
        COMPREPLY=($(compgen -f -- "$cur"))
        compopt -o filenames 2>/dev/null
        return ;;
    --junit)
        COMPREPLY=($(compgen -f -- "$cur"))
        compopt -o filenames 2>/dev/null
        return ;;
    --timeline | --html)
        COMPREPLY=($(compgen -f -- "$cur"))
        compopt -o filenames 2>/dev/null
        return ;;
    --timeline-trial)
        return ;;  # a trial's number
    --fault)  # CALL:ERROR@WHEN; N or a glob is the user's
        COMPREPLY=($(compgen -W "fsync:eio@ fsync:eio@path= write:eio@ write:enospc@" -- "$cur"))
        compopt -o nospace 2>/dev/null
        return ;;
    --run | --check | --cuts | --at | --shard | --check-timeout | --ops | --max-points | --max-states)
        return ;;  # a command, a number
    --sync-method)
        COMPREPLY=($(compgen -W "fsync fdatasync o_dsync o_direct_dsync" -- "$cur"))
        return ;;
    --dir | --out)
        COMPREPLY=($(compgen -d -- "$cur"))
        compopt -o filenames 2>/dev/null
        return ;;
    --entries | --entry-size | --max-seconds | --writers | --trials | --seed | \
    --writeback-expire-ms | --writeback-interval-ms | --intervals | --repeat | --seconds)
        return ;;  # a number or a list of numbers
    esac

    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        bench | crash | curve | diff | node | record | image | journal | merge | report | explore) cmd=${COMP_WORDS[i]}; break ;;
        esac
    done
    case $cmd in
    "")
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--help --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "bench crash curve diff node record image journal merge report explore" -- "$cur"))
        fi ;;
    bench) COMPREPLY=($(compgen -W "$_fsynclab_bench --help" -- "$cur")) ;;
    crash) COMPREPLY=($(compgen -W "$_fsynclab_crash --help" -- "$cur")) ;;
    curve) COMPREPLY=($(compgen -W "$_fsynclab_curve --help" -- "$cur")) ;;
    diff)  # two `bench --json` outputs, then nothing
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--help" -- "$cur"))
        elif ((COMP_CWORD - i <= 2)); then
            COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
            compopt -o filenames 2>/dev/null
        fi ;;
    record)  # its options, then after -- a command
        local j
        for ((j = i + 1; j < COMP_CWORD; j++)); do [[ ${COMP_WORDS[j]} == -- ]] && return; done
        COMPREPLY=($(compgen -W "$_fsynclab_record -- --help" -- "$cur")) ;;
    image) COMPREPLY=($(compgen -W "$_fsynclab_image --help" -- "$cur")) ;;
    explore) COMPREPLY=($(compgen -W "$_fsynclab_explore --help" -- "$cur")) ;;
    merge)  # the shards' `crash --json` outputs
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$_fsynclab_merge --help" -- "$cur"))
        else
            COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
            compopt -o filenames 2>/dev/null
        fi ;;
    journal) COMPREPLY=($(compgen -W "$_fsynclab_journal --help" -- "$cur")) ;;
    report)  # RESULT.json, timelines, --html OUT.html
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$_fsynclab_report --help" -- "$cur"))
        else
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
        fi ;;
    node) ;;  # takes no arguments
    esac
}

complete -F _fsynclab fsynclab
