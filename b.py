import socket
b = socket.socket()
try: b.connect(("127.0.0.1", 7102)); print("connected?!")
except OSError as e: print("blocking", e)
