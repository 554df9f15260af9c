#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro Swift cannot import: binding through this helper makes
// SQLite copy the text before the call returns, so Swift's temporary buffer may go away.
static inline int csqlite_bind_text_transient(sqlite3_stmt *stmt, int index, const char *text, int bytes) {
    return sqlite3_bind_text(stmt, index, text, bytes, SQLITE_TRANSIENT);
}

// SQLITE_STATIC (a null destructor) tells SQLite the text stays valid and unchanged until the
// statement is stepped and reset or rebound, so it binds the pointer without copying the bytes.
static inline int csqlite_bind_text_static(sqlite3_stmt *stmt, int index, const char *text, int bytes) {
    return sqlite3_bind_text(stmt, index, text, bytes, SQLITE_STATIC);
}
#endif
