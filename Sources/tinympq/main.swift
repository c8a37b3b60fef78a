print("tinympq")
