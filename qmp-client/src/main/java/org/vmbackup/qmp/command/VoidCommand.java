package org.vmbackup.qmp.command;

import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.QmpCommand;

/** A command whose reply is {@code {}}: the result is {@code null}. */
public interface VoidCommand extends QmpCommand<Void> {
    @Override
    default Void decode(Json result) {
        return null;
    }
}
