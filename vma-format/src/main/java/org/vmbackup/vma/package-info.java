/**
 * Reader and writer of Proxmox's VMA archive format, byte-compatible with the reference {@code vma} tool.
 * Streaming, strictly checked, with an index for random access into seekable archives.
 */
package org.vmbackup.vma;
