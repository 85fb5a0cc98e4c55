"""The microcontroller side: protocol spec, portable C firmware core, test vectors and a simulator."""
