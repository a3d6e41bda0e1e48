#!/usr/bin/env bash
# DESIGN: builds the guest kit of `crash --vm` from Debian packages only.
#
#   mkkit.sh OUT GUEST
#
# OUT gets vmlinux (the Debian kernel's uncompressed ELF image: the kernel
# has CONFIG_PVH, so QEMU boots it directly and the guest skips seconds of
# decompression under TCG), initramfs.cpio (busybox-static as init, the
# virtio-blk, ext4, xfs and btrfs modules, with a load order per file
# system, the writer GUEST) and the empty base images base.img (ext4),
# base-xfs.img and base-btrfs.img, made by Debian's mkfs tools.  The apt
# download cache is OUT/apt.  A step whose output exists is skipped, so a
# second run costs nothing.
set -euo pipefail
out=${1:?usage: mkkit.sh OUT GUEST}
guest=${2:?usage: mkkit.sh OUT GUEST}
mkdir -p "$out/apt"
say() { echo "vm kit: $*"; }

# The modules each file system needs after virtio-blk's, in dependency
# order.  There is no modprobe here (and the package has no modules.dep):
# the order comes from each module's own "depends=" (modinfo), depth first.
# A "softdep=pre: crc32c" names a crypto algorithm, not a module: the guest
# has no modprobe to find it on demand, so crc32c_generic is loaded first.
base_modules="virtio_pci virtio_blk"
filesystems="ext4 xfs btrfs"

# 1. The real kernel package behind the linux-image-amd64 metapackage.
if [ ! -d "$out/kernel" ]; then
  kernel_pkg() { { apt-cache depends linux-image-amd64 2>/dev/null || true; } |
                 awk '/Depends: linux-image-[0-9]/ && !n++ {print $2}'; }
  pkg=$(kernel_pkg)
  # A fresh machine may have no package lists yet: update once.
  [ -n "$pkg" ] || { apt-get update -qq >/dev/null 2>&1; pkg=$(kernel_pkg); }
  [ -n "$pkg" ] || { echo "vm kit: apt-cache depends linux-image-amd64 names no kernel" >&2; exit 1; }
  deb=$(ls "$out/apt/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    say "apt-get download $pkg"
    # Stale lists name a version the mirror no longer has: update once and retry.
    (cd "$out/apt" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
      { say "apt-get update, then download again"; apt-get update -qq >/dev/null 2>&1;
        (cd "$out/apt" && apt-get download -q "$pkg" >/dev/null 2>&1); } ||
      { echo "vm kit: apt-get download $pkg failed" >&2; exit 1; }
    deb=$(ls "$out/apt/${pkg}_"*.deb | head -n1)
  fi
  say "dpkg-deb -x $(basename "$deb")"
  rm -rf "$out/kernel.tmp"
  dpkg-deb -x "$deb" "$out/kernel.tmp"
  mv "$out/kernel.tmp" "$out/kernel"
fi
vmlinuz=$(ls "$out"/kernel/boot/vmlinuz-* | head -n1)
kver=${vmlinuz##*/vmlinuz-}

# 2. The uncompressed vmlinux: try each xz, then gzip, stream start inside
#    the bzImage until one decompresses to an ELF file.
is_elf() { [ "$(head -c4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }
if [ ! -f "$out/vmlinux" ]; then
  for magic in xz gz; do
    case $magic in
      xz) pat=$'\xfd7zXZ\x00'; dec="xz -dc" ;;
      gz) pat=$'\x1f\x8b\x08'; dec="gzip -dc" ;;
    esac
    for off in $(LC_ALL=C grep -obUaF "$pat" "$vmlinuz" | cut -d: -f1); do
      tail -c +$((off + 1)) "$vmlinuz" | $dec > "$out/vmlinux.tmp" 2>/dev/null || true
      if [ -s "$out/vmlinux.tmp" ] && is_elf "$out/vmlinux.tmp"; then
        mv "$out/vmlinux.tmp" "$out/vmlinux"
        say "vmlinux from the $magic stream at byte $off of $(basename "$vmlinuz")"
        break 2
      fi
    done
  done
  rm -f "$out/vmlinux.tmp"
  [ -f "$out/vmlinux" ] || { echo "vm kit: no xz or gzip stream in $vmlinuz gives an ELF vmlinux" >&2; exit 1; }
fi

# 3. The initramfs; rebuilt when the writer or this script is newer than it.
if [ ! -f "$out/initramfs.cpio" ] || [ "$guest" -nt "$out/initramfs.cpio" ] ||
   [ "${BASH_SOURCE[0]}" -nt "$out/initramfs.cpio" ]; then
  root=$out/initramfs
  rm -rf "$root"
  mkdir -p "$root"/{bin,dev,proc,sys,mnt,lib/modules}
  cp /bin/busybox "$root/bin/busybox"
  file /bin/busybox 2>/dev/null | grep -q "statically linked" ||
    ldd /bin/busybox 2>&1 | grep -q "not a dynamic" ||
    { echo "vm kit: /bin/busybox is not static (install busybox-static)" >&2; exit 1; }
  find_ko() {
    local ko
    ko=$(find "$out/kernel/lib/modules/$kver" \( -name "$1.ko" -o -name "${1//_/-}.ko" \) | head -n1)
    [ -n "$ko" ] || { echo "vm kit: module $1.ko not in $kver" >&2; exit 1; }
    echo "$ko"
  }
  # Appends module $1 to $order after what it depends on (once each).
  resolve() {
    local m=${1//-/_} ko d
    case " $order " in *" $m "*) return ;; esac
    ko=$(find_ko "$m") || exit 1
    # (grep -q would end the pipe early: strings gets SIGPIPE and pipefail says no)
    if strings -a "$ko" | grep '^softdep=pre:.*crc32c' >/dev/null; then resolve crc32c_generic; fi
    for d in $(strings -a "$ko" | sed -n 's/^depends=//p' | tr ',' ' '); do resolve "$d"; done
    order="$order $m"
    [ -f "$root/lib/modules/$m.ko" ] || cp "$ko" "$root/lib/modules/$m.ko"
  }
  for fs in $filesystems; do
    order=""
    for m in $base_modules $fs; do resolve "$m"; done
    echo $order | tr ' ' '\n' > "$root/lib/modules/order.$fs"
  done
  # virtio-9p for the host's root file system (loaded after a file system's).
  order=""
  for m in $base_modules; do resolve "$m"; done
  seen=$order
  for m in 9pnet_virtio 9p; do resolve "$m"; done
  echo ${order#"$seen"} | tr ' ' '\n' > "$root/lib/modules/order.9p"
  cp "$guest" "$root/bin/fsynclab-guest"
  cat > "$root/init" <<'EOF'
#!/bin/busybox sh
# The guest's init: modules, the data disk on /mnt, then the writer, whose
# arguments come from the kernel command line (fsl_* become variables here).
# fsl_fs is ext4, xfs or btrfs; fsl_mopts the mount options (no spaces).
# fsl_mode=check is a check boot: /dev/vda is an output disk and the
# fsl_n disks after it are images, each mounted in turn (the journal or
# log replay a real mount does), its /LOG copied to 64 MiB slot i of the
# output disk, and unmounted: F<i> <size>, F<i> - (no /LOG), M<i> (the
# mount failed), U<i> (the unmount failed), then C when all is on disk.
# fsl_mode=program runs a program from the host's root file system (shared
# read-only over virtio-9p, tag hostroot): a tmpfs root with the host's
# top-level directories bound into it, tmpfs on /tmp and /run, the data
# disk on /data, and the script fsl_script (a host path) under /bin/sh in
# /data; its output is the console.  fsl_mode=progcheck is the check boot
# of a program: for each image disk, a mount and unmount (the log replay),
# the file system's own checker from the host's root on it (X<i> <status>),
# then the script fsl_script again with the image on /data, each line of
# its output as K<i> <line>, and its status as S<i> <status>.
bb=/bin/busybox
$bb mount -t devtmpfs dev /dev
$bb mount -t proc proc /proc
fs=${fsl_fs:-ext4}
for m in $($bb cat /lib/modules/order.$fs); do
  $bb insmod /lib/modules/$m.ko || { echo "Einsmod $m failed"; $bb poweroff -f; }
done
waitdev() {
  n=0
  while [ ! -b $1 ] && [ $n -lt 500 ]; do $bb usleep 10000; n=$((n + 1)); done
}
waitdev /dev/vda
if [ "$fsl_mode" = probe ]; then echo P; $bb poweroff -f; fi
hostroot() {
  for m in $($bb cat /lib/modules/order.9p); do
    $bb insmod /lib/modules/$m.ko || { echo "Einsmod $m failed"; $bb poweroff -f; }
  done
  $bb mkdir -p /host /r
  $bb mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=262144 hostroot /host ||
    { echo "Emount of the host's root over 9p failed"; $bb poweroff -f; }
  $bb mount -t tmpfs -o mode=755 root /r
  for e in /host/* /host/.[!.]*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    n=${e#/host/}
    if [ -L "$e" ]; then $bb ln -s "$($bb readlink "$e")" "/r/$n"
    elif [ -d "$e" ]; then
      $bb mkdir "/r/$n"
      case $n in proc|sys|dev|tmp|run|data) ;; *) $bb mount --bind "$e" "/r/$n" ;; esac
    fi
  done
  $bb mkdir -p /r/proc /r/sys /r/dev /r/tmp /r/run /r/data
  $bb mount -t proc proc /r/proc
  $bb mount -t sysfs sys /r/sys
  $bb mount -t devtmpfs dev /r/dev
  $bb mount -t tmpfs tmp /r/tmp
  $bb mount -t tmpfs run /r/run
}
fsck_cmd() {
  case $fs in
    ext4) echo "e2fsck -fn $1" ;;
    xfs) echo "xfs_repair -n $1" ;;
    btrfs) echo "btrfs check --readonly $1" ;;
  esac
}
# The data disk is mounted on /mnt before the shared root is set up, then
# moved to /data: a mount straight onto /r/data failed with ENOENT now and
# then.
if [ "$fsl_mode" = program ]; then
  $bb mount -t $fs ${fsl_mopts:+-o "$fsl_mopts"} /dev/vda /mnt ||
    { echo "Emount -t $fs ${fsl_mopts:+-o $fsl_mopts} /dev/vda failed"; $bb poweroff -f; }
  hostroot
  $bb mount --move /mnt /r/data || { echo "Emount --move /mnt /r/data failed"; $bb poweroff -f; }
  # QEMU's blklogwrites writes the log's header at the first flush: one
  # now, before the program, so that a program that never syncs still
  # leaves a log the host can read.  sync(2) alone sends none when the file
  # system has nothing to commit (Btrfs, XFS right after a mount); an
  # fdatasync of the block device always does.
  $bb sync
  $bb sync -d /dev/vda || { echo "Efdatasync of /dev/vda failed"; $bb poweroff -f; }
  echo R0
  $bb chroot /r /bin/sh -c "cd /data && FSYNCLAB_DATA=/data exec /bin/sh $fsl_script" 2>&1
  echo "D$?"
  $bb poweroff -f
fi
if [ "$fsl_mode" = progcheck ]; then
  hostroot
  i=0
  for d in b c d e f g h i j k l m n o p q; do
    [ $i -lt "$fsl_n" ] || break
    waitdev /dev/vd$d
    if $bb mount -t $fs ${fsl_mopts:+-o "$fsl_mopts"} /dev/vd$d /mnt; then
      $bb umount /mnt || echo "U$i"
      $bb chroot /r $(fsck_cmd /dev/vd$d) >/dev/null 2>&1
      echo "X$i $?"
      if $bb mount -t $fs ${fsl_mopts:+-o "$fsl_mopts"} /dev/vd$d /mnt &&
         $bb mount --move /mnt /r/data; then
        $bb chroot /r /bin/sh -c "cd /data && FSYNCLAB_DATA=/data exec /bin/sh $fsl_script" \
          >/keys 2>/dev/null
        st=$?
        while read -r line; do echo "K$i $line"; done </keys
        echo "S$i $st"
        $bb umount /r/data || echo "U$i"
      else
        echo "M$i"
      fi
    else
      echo "M$i"
    fi
    i=$((i + 1))
  done
  echo C
  $bb poweroff -f
fi
if [ "$fsl_mode" = check ]; then
  i=0
  for d in b c d e f g h i j k l m n o p q; do
    [ $i -lt "$fsl_n" ] || break
    waitdev /dev/vd$d
    if $bb mount -t $fs ${fsl_mopts:+-o "$fsl_mopts"} /dev/vd$d /mnt; then
      if [ -f /mnt/LOG ]; then
        size=$($bb stat -c %s /mnt/LOG)
        $bb dd if=/mnt/LOG of=/dev/vda bs=65536 seek=$((i * 1024)) 2>/dev/null ||
          echo "Edd of image $i failed"
        echo "F$i $size"
      else
        echo "F$i -"
      fi
      $bb umount /mnt || echo "U$i"
    else
      echo "M$i"
    fi
    i=$((i + 1))
  done
  $bb sync
  echo C
  $bb poweroff -f
fi
$bb mount -t $fs ${fsl_mopts:+-o "$fsl_mopts"} /dev/vda /mnt ||
  { echo "Emount -t $fs ${fsl_mopts:+-o $fsl_mopts} /dev/vda failed"; $bb poweroff -f; }
exec /bin/fsynclab-guest /mnt/LOG "$fsl_strategy" "$fsl_writers" "$fsl_entry_size" \
  "$fsl_sync_method" "$fsl_entries" ${fsl_dirsync:+"$fsl_dirsync"}
EOF
  chmod 755 "$root/init"
  (cd "$root" && find . | LC_ALL=C sort | busybox cpio -o -H newc -R 0:0 2>/dev/null) \
    > "$out/initramfs.cpio.tmp"
  mv "$out/initramfs.cpio.tmp" "$out/initramfs.cpio"
  say "initramfs.cpio for $kver ($(du -k "$out/initramfs.cpio" | cut -f1) KiB)"
fi

# 4. The data disk's base image: 64 MiB of ext4, inode tables and journal
#    written now, so that no lazy-init thread writes in the guest.
if [ ! -f "$out/base.img" ]; then
  rm -f "$out/base.img.tmp"
  mke2fs -q -t ext4 -F -E lazy_itable_init=0,lazy_journal_init=0 -L fsynclab \
    "$out/base.img.tmp" 64M >/dev/null
  mv "$out/base.img.tmp" "$out/base.img"
  say "base.img (64 MiB ext4)"
fi
# XFS refuses less than 300 MB and Btrfs less than 114 MiB.  The files are
# sparse: a trial copies only what mkfs wrote.
if [ ! -f "$out/base-xfs.img" ]; then
  rm -f "$out/base-xfs.img.tmp"
  truncate -s 320M "$out/base-xfs.img.tmp"
  mkfs.xfs -q -L fsynclab "$out/base-xfs.img.tmp" ||
    { echo "vm kit: mkfs.xfs failed (apt-get install xfsprogs)" >&2; exit 1; }
  mv "$out/base-xfs.img.tmp" "$out/base-xfs.img"
  say "base-xfs.img (320 MiB xfs)"
fi
if [ ! -f "$out/base-btrfs.img" ]; then
  rm -f "$out/base-btrfs.img.tmp"
  truncate -s 128M "$out/base-btrfs.img.tmp"
  mkfs.btrfs -q -L fsynclab "$out/base-btrfs.img.tmp" >/dev/null ||
    { echo "vm kit: mkfs.btrfs failed (apt-get install btrfs-progs)" >&2; exit 1; }
  mv "$out/base-btrfs.img.tmp" "$out/base-btrfs.img"
  say "base-btrfs.img (128 MiB btrfs)"
fi
echo "$kver" > "$out/kernel-version"
say "ready in $out (kernel $kver)"
