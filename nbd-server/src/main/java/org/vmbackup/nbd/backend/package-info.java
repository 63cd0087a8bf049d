/** Built-in export backends: sparse memory, raw file, null and a read-only wrapper. */
package org.vmbackup.nbd.backend;
