"""What runs inside every engine: the worker contract, the prelude and the runners."""
