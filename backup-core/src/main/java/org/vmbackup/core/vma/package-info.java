/**
 * Proxmox's VMA format as a backup target and a restore source: {@link org.vmbackup.core.vma.VmaArchiveSink}
 * writes a {@code .vma} (plain, zstd or gzip), {@link org.vmbackup.core.vma.ProxmoxTarget} writes one that
 * Proxmox VE restores as its own ({@code qmrestore}), and {@link org.vmbackup.core.vma.VmaSources} reads one.
 * The format-independent entry points ({@link org.vmbackup.core.ArchiveTarget#vma},
 * {@link org.vmbackup.core.ArchiveSource#open}) lead here; the byte format itself is {@code org.vmbackup.vma}.
 */
package org.vmbackup.core.vma;
