module loopchannels/selectbench

go 1.19
