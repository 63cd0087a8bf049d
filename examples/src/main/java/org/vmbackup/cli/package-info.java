/**
 * The {@code vmabackup} command line: backup, restore, vma, nbd and qmp subcommands.
 * It holds no logic the library lacks; each subcommand is a thin shell over the library's API.
 */
package org.vmbackup.cli;
