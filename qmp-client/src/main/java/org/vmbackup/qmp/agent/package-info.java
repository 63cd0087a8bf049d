/**
 * A client for the QEMU guest agent (qemu-ga): {@link org.vmbackup.qmp.agent.GuestAgentClient} talks to the agent
 * over the host end of its virtio-serial channel, resynchronising before every call, with typed ping, info and
 * file-system freeze commands ({@link org.vmbackup.qmp.agent.GuestAgentInfo},
 * {@link org.vmbackup.qmp.agent.GuestFsFreezeStatus}) and the QMP client's typed exceptions.
 */
package org.vmbackup.qmp.agent;
