// selectbench: Go's select beside loop-bench's select scenarios, measured the same way (runs
// interleaved across implementations, median, min and max ns per operation, mallocs per
// operation from runtime.MemStats).
//
//	cd Benchmarks/go && go run . [-quick] [-runs N]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// timeoutWait is select-timeout's timeout, subtracted from each operation's time.
const timeoutWait = 20 * time.Microsecond

type impl struct {
	name string
	// run performs n operations and returns the time they took beyond excluded waits.
	run func(n int) time.Duration
}

type scenario struct {
	name       string
	ops, quick int
	reference  string
	impls      []impl
}

func main() {
	quick := flag.Bool("quick", false, "fewer operations per run")
	runs := flag.Int("runs", 7, "measured runs per implementation")
	filter := flag.String("filter", "", "run only scenarios whose name contains this")
	flag.Parse()

	fmt.Printf("selectbench: %s, GOMAXPROCS %d, %d interleaved runs per implementation\n",
		runtime.Version(), runtime.GOMAXPROCS(0), *runs)
	fmt.Println("| scenario | impl | ns/op (median) | min | max | × ref | allocs/op |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	for _, s := range scenarios() {
		if *filter != "" && !strings.Contains(s.name, *filter) {
			continue
		}
		ops := s.ops
		if *quick {
			ops = s.quick
		}
		samples := make([][]float64, len(s.impls))
		allocs := make([][]float64, len(s.impls))
		for round := 0; round <= *runs; round++ { // round 0 warms up, at a tenth of the ops
			for i, im := range s.impls {
				n := ops
				if round == 0 {
					n = ops / 10
				}
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				elapsed := im.run(n)
				runtime.ReadMemStats(&after)
				if round > 0 {
					samples[i] = append(samples[i], float64(elapsed.Nanoseconds())/float64(n))
					allocs[i] = append(allocs[i], float64(after.Mallocs-before.Mallocs)/float64(n))
				}
			}
		}
		var ref float64
		for i, im := range s.impls {
			if im.name == s.reference {
				ref = median(samples[i])
			}
		}
		for i, im := range s.impls {
			sort.Float64s(samples[i])
			name := im.name
			if name == s.reference {
				name += " (ref)"
			}
			m := median(samples[i])
			fmt.Printf("| %s | %s | %s | %s | %s | %.3g× | %.3f |\n", s.name, name, format(m),
				format(samples[i][0]), format(samples[i][len(samples[i])-1]), m/ref, median(allocs[i]))
		}
	}
}

func median(values []float64) float64 {
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	middle := len(sorted) / 2
	if len(sorted)%2 == 1 {
		return sorted[middle]
	}
	return (sorted[middle-1] + sorted[middle]) / 2
}

// format prints 4 significant digits, without an exponent.
func format(value float64) string {
	if value >= 1000 {
		return fmt.Sprintf("%.0f", value)
	}
	return fmt.Sprintf("%.4g", value)
}

func check(ok bool, message string) {
	if !ok {
		fmt.Fprintln(os.Stderr, "selectbench:", message)
		os.Exit(1)
	}
}

func scenarios() []scenario {
	return []scenario{
		{"select-ready", 1_000_000, 50_000, "recv", []impl{
			{"select", selectReady},
			{"recv", recvReady},
		}},
		{"select-wake-xthread", 20_000, 2_000, "recv", []impl{
			{"select", selectWake},
			{"recv", recvWake},
		}},
		{"select-timeout", 5_000, 500, "select", []impl{
			{"select", selectTimeout},
		}},
	}
}

// select-ready: send to one of two buffered channels (alternating), then select over both.
func selectReady(n int) time.Duration {
	a, b := make(chan int, 1), make(chan int, 1)
	sum := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		if i&1 == 0 {
			a <- i
		} else {
			b <- i
		}
		select {
		case v := <-a:
			sum += v
		case v := <-b:
			sum += v
		}
	}
	elapsed := time.Since(start)
	check(sum == n*(n-1)/2, "select-ready lost values")
	return elapsed
}

// recv reference of select-ready: the same sends, each followed by a receive on the channel
// sent to.
func recvReady(n int) time.Duration {
	a, b := make(chan int, 1), make(chan int, 1)
	sum := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		c := a
		if i&1 != 0 {
			c = b
		}
		c <- i
		sum += <-c
	}
	elapsed := time.Since(start)
	check(sum == n*(n-1)/2, "recv-ready lost values")
	return elapsed
}

// roundTrips runs n round trips: the calling goroutine, locked to its OS thread (the "plain
// thread"), sends trip i with send and waits for the reply, which a goroutine blocked in
// serve sends back.
func roundTrips(n int, send func(int), serve func(replies chan<- int)) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	replies := make(chan int, 1)
	go serve(replies)
	start := time.Now()
	for i := 0; i < n; i++ {
		send(i)
		check(<-replies == i, "a round trip got a wrong reply")
	}
	return time.Since(start)
}

// select-wake-xthread: a goroutine blocked in a select over two channels, woken by the
// locked thread's send, replies.
func selectWake(n int) time.Duration {
	a, b := make(chan int, 1), make(chan int, 1)
	return roundTrips(n, func(i int) {
		if i&1 == 0 {
			a <- i
		} else {
			b <- i
		}
	}, func(replies chan<- int) {
		for i := 0; i < n; i++ {
			select {
			case v := <-a:
				replies <- v
			case v := <-b:
				replies <- v
			}
		}
	})
}

// recv reference of select-wake-xthread: the same round trips through one channel.
func recvWake(n int) time.Duration {
	a := make(chan int, 1)
	return roundTrips(n, func(i int) { a <- i }, func(replies chan<- int) {
		for i := 0; i < n; i++ {
			replies <- <-a
		}
	})
}

// select-timeout: a select over an empty channel and a 20 µs timer (one reused time.Timer,
// the allocation-free idiom), which wins; the 20 µs are subtracted.
func selectTimeout(n int) time.Duration {
	a := make(chan int)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	timeouts := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		timer.Reset(timeoutWait)
		select {
		case <-a:
		case <-timer.C:
			timeouts++
		}
	}
	elapsed := time.Since(start) - time.Duration(n)*timeoutWait
	check(timeouts == n, "a select-timeout wait did not time out")
	return elapsed
}
