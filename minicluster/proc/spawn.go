package proc

import (
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// The kernel sends Pdeathsig when the thread that forked the child exits, not
// when the process does. Go ends a thread when a goroutine locked to it returns,
// so a child forked from an arbitrary thread could be killed at a random moment
// by unrelated code. Every fork therefore happens on one goroutine that locks
// its thread and never returns: that thread lives exactly as long as the
// process, which is the lifetime Pdeathsig is meant to track.
var spawner struct {
	once sync.Once
	reqs chan spawnReq
}

type spawnReq struct {
	cmd *exec.Cmd
	err chan<- error
}

// spawn starts cmd on the spawner thread.
func spawn(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnReq)
		go runSpawner(spawner.reqs)
	})
	errc := make(chan error, 1)
	spawner.reqs <- spawnReq{cmd, errc}
	return <-errc
}

func runSpawner(reqs <-chan spawnReq) {
	runtime.LockOSThread() // never unlocked, see spawner
	for r := range reqs {
		r.err <- r.cmd.Start()
	}
}

// pPID is P_PID from <sys/wait.h>, missing from package syscall.
const pPID = 1

// waitExited blocks until the process pid has exited but leaves it unreaped
// (WNOWAIT), so that its group can still be signalled without any risk of the
// id having been reused.
func waitExited(pid int) error {
	for {
		// A nil siginfo is allowed on Linux; the status is read by the reap.
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), 0,
			syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		switch errno {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		default:
			return os.NewSyscallError("waitid", errno)
		}
	}
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGABRT: "SIGABRT",
	syscall.SIGALRM: "SIGALRM",
	syscall.SIGBUS:  "SIGBUS",
	syscall.SIGCHLD: "SIGCHLD",
	syscall.SIGCONT: "SIGCONT",
	syscall.SIGFPE:  "SIGFPE",
	syscall.SIGHUP:  "SIGHUP",
	syscall.SIGILL:  "SIGILL",
	syscall.SIGINT:  "SIGINT",
	syscall.SIGKILL: "SIGKILL",
	syscall.SIGPIPE: "SIGPIPE",
	syscall.SIGQUIT: "SIGQUIT",
	syscall.SIGSEGV: "SIGSEGV",
	syscall.SIGSTOP: "SIGSTOP",
	syscall.SIGSYS:  "SIGSYS",
	syscall.SIGTERM: "SIGTERM",
	syscall.SIGTRAP: "SIGTRAP",
	syscall.SIGTSTP: "SIGTSTP",
	syscall.SIGTTIN: "SIGTTIN",
	syscall.SIGTTOU: "SIGTTOU",
	syscall.SIGUSR1: "SIGUSR1",
	syscall.SIGUSR2: "SIGUSR2",
	syscall.SIGXCPU: "SIGXCPU",
	syscall.SIGXFSZ: "SIGXFSZ",
}

// signalName gives the C name ("SIGKILL"), which is what Spark's and the JVM's
// messages quote, rather than Go's description ("killed").
func signalName(s syscall.Signal) string {
	if n, ok := signalNames[s]; ok {
		return n
	}
	return s.String()
}

func nameOf(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		return signalName(s)
	}
	return sig.String()
}
