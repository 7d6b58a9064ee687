// Package filesystem provides a backend.Backend that keeps one file per entry
// in a directory: Flask-Caching's FileSystemCache, made safe.
//
// # Layout
//
// Entries live under Options.Dir/Options.Namespace. A key's file is named by
// the SHA-256 of the key in hex (the key itself never reaches a path, so keys
// such as "../../etc/passwd" stay inside the directory), in a subdirectory
// named by the hash's first two hex digits: 256 subdirectories, so that a
// million entries make about 4,000 files per directory.
//
// A file holds a header (magic, format version, expiry, key length and the
// key, so that a hash collision or a foreign file is detected), the value, and
// a CRC-32C of the whole. A file that is corrupt, truncated, of an older
// version or for another key is a miss, and is removed; it never panics. (A
// live entry over the Store's Options.MaxBytes is a miss left on disk for
// the Store that wrote it, however old: see Several processes.)
//
// A file of a newer format version (the magic right, the version higher:
// written by a newer release sharing the directory, as during a rolling
// deploy) is a miss too, but is not taken for corrupt: reads leave it on
// disk, so that the older release does not delete the newer one's cache.
// It takes space, so one that fits Options.MaxBytes counts against
// Options.MaxEntries and Options.MaxBytes as any file does, by its size,
// placed in the order of use by its modification time (reading it here is
// no use of it), and eviction removes it in its turn. Its expiry cannot be
// read, so in its stead the sweep removes it once its modification time is
// over 24 hours old (by the system's clock): a newer release still running
// rewrites its entries, and one rolled back leaves files that no Store of
// this release could otherwise tell expired, which would stay for good in
// a Store whose entries stay under its bounds. The sweep removes at once
// one over Options.MaxBytes, which this Store can neither bound nor expire
// (unlike a live entry of this version over it, which goes when it
// expires: see Several processes); so during a deploy that also raises
// MaxBytes, the newer release's entries over the older bound are misses.
// Without a sweep (Options.SweepInterval -1) neither removal happens. Set,
// Add and Incr of its key replace it (to this release it holds no entry:
// Add finds the key absent, Incr counts from 0), Delete and Clear remove
// it, and DeleteCount does not count it.
//
// Writes go to a temporary file in the same subdirectory that is renamed into
// place (with Options.Sync, the file fsynced before the rename and the
// subdirectory after it), so a reader in any process sees
// the old entry or the new one, never part of one. Files are created 0600 and
// directories 0700 unless Options.FileMode and Options.DirMode say otherwise.
// On Unix systems, an entry file found readable by group or others beyond
// Options.FileMode (written before FileMode was tightened) loses that read
// permission when a read or the sweep opens it, and is kept; one of another
// group member's, which only its owner may change, stays as it is.
// A read-only directory gives an error wrapping the *fs.PathError, never a
// crash. A write the disk has no room for (ENOSPC, or a quota's EDQUOT;
// Windows' disk-full errors) gives an error wrapping both
// backend.ErrValueTooLarge and the *fs.PathError, saying the disk is full,
// and a Set so refused removes the key's older file, as for a value over
// Options.MaxBytes (removing needs no room): a caller that wrote a new
// value never reads the old one back. Reads go on working on a full disk,
// and the refusal is the write's, as memcached's refusal of an item for want
// of memory is: a Cache counts it as an answer, not as a failure that
// would open its circuit breaker for the reads too.
//
// # Bounds and eviction
//
// The store is bounded by entries (Options.MaxEntries, default 100,000) and by
// the bytes of its files (Options.MaxBytes, default 1 GiB). Each Store keeps
// an index in memory, built by New from one directory walk (a stat per file,
// no reads) and updated by its own Set, Get and Delete, so that a Set never
// reads the directory. Past a bound it removes the least recently used files
// (written or read by this process; files found on disk count from their
// modification time), whatever their expiry: a never-expiring entry is not
// evicted before the others, as it was in Flask-Caching.
//
// Eviction never waits for a lock (see Several processes): a victim whose
// subdirectory another process or goroutine holds locked is skipped and
// stays in the index as the least recently used, and the next eviction (a
// Set or read over a bound, or the sweep) tries it first; so does a victim
// left when the caller's context ends, or whose file could not be removed.
// So the files this Store indexed exceed its bounds only by such victims,
// until the first eviction or sweep after their locks are free (a process
// stopped holding one, say, was continued), and Stats counts them. A victim
// deleted or cleared while it was skipped does not come back (but for a
// rare race with a Delete of its key under way, in which its key comes back
// with no file behind it, the next to be evicted); one still on disk always
// does, so that no file is left out of the bounds.
//
// The index holds about 120 to 170 bytes of memory per entry (its hash,
// size and place in the order of use), whatever the entry's size: with
// MaxEntries -1, a large MaxBytes of tiny entries costs that much memory
// per entry (a GiB of 100-byte entries, some 1.6 GiB of index).
//
// Expired files are removed when read, and by a sweep goroutine every
// Options.SweepInterval (default 5 minutes; it reads each file's 21-byte
// header) that Close stops. Temporary files over an hour old (a writer
// crashed before its rename) are removed by the sweep and by New's walk.
//
// # Several processes
//
// Any number of Stores, in one process or many, may share a directory and
// namespace: the files are the truth, and the rename makes every write
// atomic. Set, Add, Incr and Delete of keys in one subdirectory serialise on
// an advisory lock (flock(2) on the subdirectory's ".lock" file), so Add and
// Incr are atomic across processes on Linux, macOS and the BSDs; elsewhere
// (Windows, Solaris), only within a process.
// Each lock checks that the file it holds is the one at the path, so that
// clearing the cache by deleting its directories under running processes
// does not leave two of them locking different files.
//
// The bounds are enforced approximately across processes: each process's
// index knows the files it wrote or read (one read while another goroutine
// or process held its subdirectory's lock is learnt at a later read), and
// learns of the others' at each sweep, each placed among those it knows
// by its modification time (a file another process wrote since the last
// sweep is not the first to go), the new size of each file it knew that
// another process rewrote, and which files it knew another process deleted
// (it forgets them and their bytes; with no sweep, such a file counts until
// its key is read or evicted). Two processes with MaxEntries n may keep up
// to about 2n files between sweeps, and a process may evict a file
// another one read recently. A sweep learns nothing of a subdirectory
// whose lock another goroutine or process holds: the next one does. Stats
// reports this process's index.
//
// Stores sharing a namespace may have different bounds. A Store never reads
// the value of, indexes or evicts an entry file over its own MaxBytes: a
// live entry that a Store with a larger MaxBytes wrote is a miss for it,
// checked from the header and key alone and left on disk for the other
// (Add does not replace it, Incr refuses it with backend.ErrValueTooLarge,
// Delete removes it). A key it had indexed when its file was smaller
// leaves its index when it reads or sweeps the larger file, and eviction
// checks the file's size, under the subdirectory's lock, before it removes
// it. A file over its MaxBytes that is not a live entry for the key
// (corrupt, foreign, another key's, expired) is removed on read as any bad
// file is.
//
// A live entry over its MaxBytes is left to the Store that wrote it, however
// long ago that was: a Store cannot tell an entry another Store still uses
// (reads do not change a file's modification time) from one nobody will
// read again. An entry with a TTL goes when it expires, removed on read or
// by the sweep as any expired entry. One without a TTL stays until it is
// deleted or overwritten: after lowering MaxBytes on a directory no other
// Store uses, Clear the namespace, or the entries over the new bound that
// have no TTL stay on disk, out of every index and bound, as misses (Add
// finds them present, Incr refuses them) until deleted.
//
// # Directories the store trusts
//
// On Unix systems, anyone who can write the namespace directory or one of
// its subdirectories can plant files in the entry format (it has a
// checksum, not a secret) that Get would serve as cached values. So New
// refuses, with an error wrapping ErrUntrustedDir that names the directory,
// its owner and mode, and how to fix it, a namespace directory
// (Options.Dir/Options.Namespace) that already exists and is not trusted.
// A directory is trusted when both hold:
//
//   - it is owned by the process's effective uid, or Options.DirMode grants
//     group write (0o020) and the directory's group is one of the process's
//     (its effective gid or a supplementary group, as at New): a group
//     that shares a cache by configuration trusts each of its members;
//   - it grants write permission to group and others no more than
//     Options.DirMode does (read and search permission are not checked, nor
//     are the setgid and sticky bits).
//
// A namespace directory reached through a symbolic link is trusted when the
// link is owned as above and the directory it points to is trusted. Options.Dir
// and the directories above it are not checked: keep them writable only by
// this user or root, or sticky (as /tmp is), since whoever can write Options.Dir
// can rename the namespace directory away and put another in its place.
//
// The store checks each subdirectory the same way, from the lstat it makes
// before each use (no system call more): one that is not trusted (made by
// another user, or before the namespace directory was tightened) is not the
// store's. Reads of its keys miss, Set, Add and Incr of them fail with an
// error wrapping ErrUntrustedDir, Delete, Clear, the sweep and New's index
// skip it, and nothing in it is read, written or removed. An entry file
// owned by another user (by the same rule, from the fstat made on opening
// it), or granting group or others write that Options.FileMode does not, is
// a miss too, left alone by reads; a Set replaces it. Options.FileMode and
// Options.DirMode may not grant write to others, and must grant their owner
// what the store needs of its own files (read and write; read, write and
// search of its directories): New refuses them, on every system (on
// Windows a FileMode without owner write makes read-only entry files,
// which a Set's rename cannot replace). On Unix systems it also refuses a
// DirMode with group write (a cache shared by a group) with a FileMode that
// grants the group no read (the default 0600 included), in which the other
// members could open neither the entry files nor the lock files one member
// made, and their Set and Delete would fail; not on Windows, where access
// is by ACL and the modes share nothing with a group. Directories the
// store makes (with Options.DirMode, less the umask) are trusted; for a
// cache shared by several users of one group, give every Store the same
// Options.DirMode with group write, and make the directories setgid (chmod
// g+s) so that what each user makes has the shared group.
//
// The umask applies to the directories the store makes and to its lock
// files (a ".lock" in each subdirectory, made with Options.FileMode by the
// first to write there), not to entry files, which get Options.FileMode
// exactly. For a shared cache, run every process under a umask that keeps
// the group's bits (umask 007 or 002): under 022, a DirMode of 0770 makes
// 0750 directories, in which the other members can write nothing. A member
// that may not write another's lock file (FileMode 0640) opens it for
// reading only, which flock(2) allows; on NFS, where an exclusive flock
// needs a file open for writing, give FileMode group write (0660).
//
// Every Store sharing a namespace should use the same Options.DirMode: one
// whose DirMode grants no group write refuses the group-writable
// directories another made.
//
// "Unix systems" above are those of Go's unix build constraint: Linux,
// Android, the BSDs, macOS and iOS, illumos, Solaris, AIX and Hurd. They
// get every check of this section, the group check of New included, and
// the checks of the next. The others get none: Windows, where access is by
// ACL, which the store does not read; Plan 9, whose files are owned by
// user names, not uids; and WebAssembly: js (the files of Node.js, whose
// permissions the store does not check) and wasip1 (whose files have
// none).
// There every directory and entry file is trusted, a DirMode with group
// write is taken with any FileMode, and Options.FileMode and
// Options.DirMode are checked only as above (no write for others; the
// owner's read and write).
//
// # Files that are not the store's
//
// Within the directories it trusts, the store does not trust the files.
// What it finds at an entry's path is opened without blocking
// (O_NONBLOCK) and without following a symbolic link (O_NOFOLLOW), then
// checked on the opened file (fstat): a FIFO, socket, device, directory or
// symbolic link is a miss, found at once, and a read never removes it. A
// write (Set, Add, Incr) renames its file over whatever is there but a
// directory (rename(2) replaces a link itself, not what it points to); a
// directory at an entry's path makes writes of that key fail with an error,
// and Delete, Clear, the sweep and eviction never remove a directory. A
// regular file larger than 64 KiB is read header and key first, so a large
// file that is not the key's entry costs one small read, not its size in
// memory. A subdirectory replaced by a symbolic link (or anything else
// that is not a directory) is never followed: reads of its keys miss,
// writes fail with an error, Delete skips them, so that no file of the
// store (entry, temporary or lock file) is written, read or removed
// outside its directory. The check is made before each use: a process that
// can write the namespace directory and swaps a subdirectory for a link
// during a call is not guarded against.
//
// # Contexts
//
// Every call checks its context before it touches the disk and between each
// MiB it reads or writes. Set, Add and Incr wait for the lock of their
// key's subdirectory (held by another goroutine or process) until their
// context is done, or Close is called; Delete and Clear wait their turn
// behind this process's goroutines, but for a lock another process holds
// only briefly: they go on past it (the other keys deleted, the other
// subdirectories cleared) and try it again until their context is done or
// for 5s at most (see Store.Delete, Namespace and Clear); nothing waits for
// a lock on the store's own account: eviction skips a locked victim (see
// Bounds and eviction), and a read that finds an expired or bad file leaves it, for a
// later read or the sweep, when its subdirectory is locked. A context's
// end is returned as an error wrapping ctx.Err(), never as a miss. The
// sweep stops at once when Close is called.
//
// # Files it cannot read
//
// An entry file the store may not open (permission denied: another user's
// file, in a cache shared by a group, whose Options.FileMode grants the
// group no read) is an error of Get, Has, GetMany, Add, Incr and
// DeleteCount, not a miss, and reads leave the file alone (Set replaces
// it; Delete removes it, and so does DeleteCount, which does not count it,
// since it cannot tell whether it held a live entry). A miss would hide
// the misconfiguration: every read of the other users' entries would miss
// and rewrite them, with nothing
// logged, where an error is returned by the direct API and logged and
// counted by views, Memoize and fragments, which fail open. The error of a
// read wraps backend.ErrKeyRefused (the store serves the other keys), which
// the caching package's circuit breaker does not count: one such file, a
// tag's version file that every tagged lookup reads, say, does not switch
// the cache off. For a cache shared by a group, give FileMode group read
// (0o640 or 0o660).
//
// # Namespace and Clear
//
// Clear removes the entry files (64 hex digits) of its namespace, and
// temporary files older than a minute (a Set or Add that wrote one, then
// waited that long for the subdirectory's lock, writes it again once it has
// the lock), and nothing else: other namespaces,
// files that are not the store's and anything that is not a regular file are
// left alone. It clears one subdirectory at a time under that
// subdirectory's lock: a Set, Add or Incr that runs meanwhile is either
// cleared or kept, and counted in the bounds. A subdirectory whose lock
// another process holds (a stopped process, a hung NFS client) is
// skipped after a short wait and tried again once the others are cleared,
// until Clear's context is done or 5s have passed: then Clear returns an
// error naming the subdirectories it left, all the others cleared.
package filesystem
