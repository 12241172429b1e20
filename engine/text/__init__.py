"""Text rules both sides need: the terminal sanitiser and the `${variable}` syntax.

Pure and cheap to import: the consoles load this package (they never load the engine's
domain, services or database), and the engine's domain uses the same rules for the text it
puts in mail. So it imports nothing from the rest of the engine.
"""
