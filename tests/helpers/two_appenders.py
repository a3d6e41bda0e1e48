# A correct program for `crash --target contract`: two threads append a
# key each to one O_APPEND descriptor, fdatasync it, and only then
# acknowledge.  Its directory is synced after the file is created, so
# every acknowledged key must survive under drop.
import os
import sys
import threading

data = os.environ["FSYNCLAB_DATA"]
fd = os.open(os.path.join(data, "log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
dfd = os.open(data, os.O_RDONLY)
os.fsync(dfd)
out = threading.Lock()


def appender(t):
    i = 0
    while True:
        i += 1
        key = "%d-%d" % (t, i)
        os.write(fd, (key + "\n").encode())
        os.fdatasync(fd)
        with out:
            sys.stdout.write("ack " + key + "\n")
            sys.stdout.flush()


for t in range(2):
    threading.Thread(target=appender, args=(t,), daemon=True).start()
threading.Event().wait()
