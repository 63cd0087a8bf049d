/**
 * Typed QMP commands for backup and restore, grouped by family: {@link org.vmbackup.qmp.command.QueryCommands},
 * {@link org.vmbackup.qmp.command.BlockCommands}, {@link org.vmbackup.qmp.command.TransactionCommands},
 * {@link org.vmbackup.qmp.command.DirtyBitmapCommands}, {@link org.vmbackup.qmp.command.JobCommands},
 * {@link org.vmbackup.qmp.command.MigrationCommands}, {@link org.vmbackup.qmp.command.FdCommands},
 * {@link org.vmbackup.qmp.command.NbdCommands} and {@link org.vmbackup.qmp.command.MachineCommands}.
 */
package org.vmbackup.qmp.command;
