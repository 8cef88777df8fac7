{ outputs = _: { }; }
