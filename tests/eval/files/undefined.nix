{ a = 1; b = doesNotExist; }
