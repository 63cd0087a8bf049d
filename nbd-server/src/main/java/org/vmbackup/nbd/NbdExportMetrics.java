package org.vmbackup.nbd;

/**
 * A snapshot of one export's counters since it was added.
 *
 * @param export the export name
 * @param connections connections currently in transmission on the export
 * @param totalConnections connections that ever opened the export
 * @param reads READ requests
 * @param bytesRead bytes sent for READ requests
 * @param writes WRITE requests
 * @param bytesWritten bytes received in WRITE requests
 * @param bytesWrittenInPlace of those, bytes the socket delivered straight into backend memory
 *        ({@link NbdBackend#writeTarget}) without a copy in user space
 * @param zeroes WRITE_ZEROES requests
 * @param bytesZeroed bytes covered by WRITE_ZEROES requests
 * @param trims TRIM requests
 * @param bytesTrimmed bytes covered by TRIM requests
 * @param flushes FLUSH requests
 * @param caches CACHE requests
 * @param blockStatus BLOCK_STATUS requests
 * @param errors requests answered with an error
 */
public record NbdExportMetrics(String export, long connections, long totalConnections, long reads,
                               long bytesRead, long writes, long bytesWritten,
                               long bytesWrittenInPlace, long zeroes, long bytesZeroed,
                               long trims, long bytesTrimmed, long flushes, long caches, long blockStatus,
                               long errors) {
}
