import Graft
print("Graft quick start: placeholder replaced in the next commit")
