package timing
