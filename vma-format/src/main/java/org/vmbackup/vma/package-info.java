/**
 * Reader and writer of Proxmox's VMA archive format, byte-compatible with the reference {@code vma} tool.
 * Streaming, strictly checked, with an index for random access into seekable archives.
 *
 * <ul>
 *   <li>{@link org.vmbackup.vma.VmaWriter}: streaming encoder; clusters in any order, from any thread, in pieces
 *       of any size; zero ranges declared without data; bounded memory with back-pressure; the archive appears
 *       under its final name only when complete.</li>
 *   <li>{@link org.vmbackup.vma.VmaReader}: strictly sequential decoder (pipes, stdin) with every check of the
 *       reference plus completeness at EOF; errors are {@link org.vmbackup.vma.VmaFormatException}s naming the
 *       offset.</li>
 *   <li>{@link org.vmbackup.vma.VmaIndex}: random access and hole reporting on an uncompressed archive file.</li>
 *   <li>{@link org.vmbackup.vma.VmaExtractor}: extraction into a directory like {@code vma extract}, refusing
 *       unsafe names.</li>
 *   <li>{@link org.vmbackup.vma.VmaCompression}: {@code .vma.zst} / {@code .vma.gz}, chosen by file name when
 *       writing and by magic bytes when reading.</li>
 * </ul>
 */
package org.vmbackup.vma;
