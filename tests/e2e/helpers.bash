# helpers.bash: shared set-up for the end-to-end tests (bats).

B=build
UK=$B/uk

# Fails the test loudly when KVM is missing: hvt tests never pass without running.
require_kvm() {
    if [ ! -c /dev/kvm ] || [ ! -w /dev/kvm ]; then
        echo "no /dev/kvm: the hvt tests need KVM and cannot pass without it" >&2
        return 1
    fi
}

# run_target TARGET NAME ARGS...: runs unikernel NAME on unix, spt or hvt.
# Tender options (--net:, --block:, --mem=) go in the TENDER_OPTS array.
run_target() {
    local target=$1 name=$2
    shift 2
    case $target in
    unix) "$UK/$name" "${TENDER_OPTS[@]}" -- "$@" ;;
    spt) "$B/bin/mirage-spt" "${TENDER_OPTS[@]}" "$UK/$name.spt" "$@" ;;
    hvt) "$B/bin/mirage-hvt" "${TENDER_OPTS[@]}" "$UK/$name.hvt" "$@" ;;
    esac
}
TENDER_OPTS=()
