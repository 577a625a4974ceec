import CIRunner
print("nestci")
