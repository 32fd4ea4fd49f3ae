"""image-colourisation: a conditional GAN that colourises grayscale photographs."""

__version__ = "0.1.0"
