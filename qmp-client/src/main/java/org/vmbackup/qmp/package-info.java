/**
 * A typed, asynchronous client for the QEMU Machine Protocol: one connection object, typed errors that keep
 * QEMU's error class, events that are never dropped.
 *
 * <ul>
 *   <li>{@link org.vmbackup.qmp.QmpClient} connects (unix socket or TCP; a missing or refusing socket fails at
 *       once unless retries are asked for), negotiates capabilities and sends commands; every command carries
 *       its own id, any number may be in flight, and each has a timeout. File descriptors travel with
 *       {@code getfd}/{@code add-fd} over SCM_RIGHTS.</li>
 *   <li>Commands are {@link org.vmbackup.qmp.QmpCommand} records, grouped by family in
 *       {@link org.vmbackup.qmp.command}; {@code execute(name, args)} sends anything else untyped.</li>
 *   <li>Values are the immutable {@link org.vmbackup.qmp.Json} model ({@link org.vmbackup.qmp.JsonObject},
 *       {@link org.vmbackup.qmp.JsonArray}, ...), read and written with jackson-core's streaming API.</li>
 *   <li>Events are {@link org.vmbackup.qmp.QmpEvent} records (typed for the backup vocabulary, raw for the
 *       rest), delivered to listeners and to {@link org.vmbackup.qmp.QmpEventSubscription}s opened before the
 *       command that causes them.</li>
 *   <li>Failures: {@link org.vmbackup.qmp.QmpErrorException} (QEMU refused),
 *       {@link org.vmbackup.qmp.QmpTimeoutException}, {@link org.vmbackup.qmp.QmpConnectionClosedException},
 *       {@link org.vmbackup.qmp.QmpProtocolException} (the peer broke the protocol), all
 *       {@link org.vmbackup.qmp.QmpException}s.</li>
 *   <li>{@link org.vmbackup.qmp.QmpSchema} answers whether the connected QEMU has the commands, arguments and
 *       enum values a caller needs, naming every missing one.</li>
 * </ul>
 *
 * <p>Threads: nothing blocks the network thread. Futures complete and listeners run on a callback executor
 * (a private daemon pool by default).
 */
package org.vmbackup.qmp;
