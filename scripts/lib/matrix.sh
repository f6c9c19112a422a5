# shellcheck shell=bash
# Sourced by the scripts that walk the whole matrix.

# DISTRIBUTION: prints the default targets (PROFILE or container:VARIANT), one per line. Arch
# builds here only from a fixture repository, which has packages for the containers alone.
matrix_targets() {
    printf '%s\n' container:base container:base-devel container:multilib-devel
    if [ "$1" != arch ]; then
        printf '%s\n' basic cloud-init libvirt-executor vagrant-libvirt vagrant-virtualbox
    fi
}
