import socket, os, sys, time
s = socket.create_connection(("127.0.0.1",7101)); s.sendall(b"x"); print("parent got", s.recv(10), flush=True)
pid = os.fork()
if pid == 0:
    c = socket.socket(); c.settimeout(None)
    c.setblocking(False)
    try: c.connect(("127.0.0.1",7101))
    except BlockingIOError: pass
    import select
    r = select.select([], [c], [], 3)
    print("child new connect writable within 3s:", bool(r[1]), flush=True)
    # inherited connection still works while parent lives
    s.sendall(b"y"); print("child via inherited:", s.recv(10), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
