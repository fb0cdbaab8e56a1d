"""Input handling: turning file, folder and glob arguments into lists of images."""
