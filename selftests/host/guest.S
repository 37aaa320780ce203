/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest code of the tiny VMs. Each program lies between a global start and
 * end label; tinyvm.c copies it to TVM_CODE_GPA and starts the vCPU there.
 *
 * HCALL assembles VMMCALL (AMD) and records its address in the section
 * tvm_hcall_sites; on Intel, tinyvm.c rewrites every recorded site inside
 * the copied program to VMCALL (same length: 0f 01 d9 -> 0f 01 c1).
 *
 * The guest reports to the host with "out %al, $TVM_PORT_DONE": the host
 * sees KVM_EXIT_IO and reads the registers with KVM_GET_REGS.
 */
#define TVM_PORT_DONE 0x10

.macro HCALL
999:	vmmcall
	.pushsection tvm_hcall_sites, "aw"
	.balign 8
	.quad 999b
	.popsection
.endm

	.text

/*
 * Host-driven hypercall, 16-bit real mode: the host loads RAX (number),
 * RBX/RCX/RDX/RSI (a0..a3) and RIP with KVM_SET_REGS, runs to the OUT, and
 * reads the result registers. Upper register halves are left as the host
 * set them (KVM truncates the number and arguments to 32 bits itself).
 */
	.code16
	.globl tvm_g16_hcall, tvm_g16_hcall_end
tvm_g16_hcall:
	HCALL
	out	%al, $TVM_PORT_DONE
	hlt
tvm_g16_hcall_end:

/*
 * The same in 64-bit mode; used at CPL0 and at CPL3 (IOPL=3 lets the
 * CPL3 guest execute OUT).
 */
	.code64
	.globl tvm_g64_hcall, tvm_g64_hcall_end
tvm_g64_hcall:
	HCALL
	out	%al, $TVM_PORT_DONE
	hlt
tvm_g64_hcall_end:

/*
 * Guest-driven loop, 64-bit: the host sets R8 = number, R9 = a0 once;
 * the guest issues the call forever and reports each result with OUT
 * (the host reads RAX/RBX at every exit). R10 counts iterations.
 *
 *	for (;;) {
 *		rax = hypercall(r8, r9, 0, 0);
 *		r10++;
 *		outb(TVM_PORT_DONE, al);
 *	}
 */
	.globl tvm_g64_loop, tvm_g64_loop_end
tvm_g64_loop:
1:	mov	%r8, %rax
	mov	%r9, %rbx
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	HCALL
	inc	%r10
	out	%al, $TVM_PORT_DONE
	jmp	1b
tvm_g64_loop_end:

/*
 * Guest-driven loop that dirties pages of its own before each call,
 * 64-bit: the host sets R8 = number, R9 = a0, R12 = how many pages to
 * write and R13 = the first one's address (4 KiB apart) once. R10 counts
 * iterations and is what the guest writes.
 *
 *	for (;;) {
 *		for (i = 0; i < r12; i++)
 *			*(u64 *)(r13 + i * 4096) = r10;
 *		rax = hypercall(r8, r9, 0, 0);
 *		r10++;
 *		outb(TVM_PORT_DONE, al);
 *	}
 */
	.globl tvm_g64_dirty_loop, tvm_g64_dirty_loop_end
tvm_g64_dirty_loop:
1:	mov	%r13, %rdi
	mov	%r12, %rcx
	jrcxz	3f
2:	mov	%r10, (%rdi)
	add	$4096, %rdi
	loop	2b
3:	mov	%r8, %rax
	mov	%r9, %rbx
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	HCALL
	inc	%r10
	out	%al, $TVM_PORT_DONE
	jmp	1b
tvm_g64_dirty_loop_end:
/*
 * Directed-yield tests, 64-bit, one program for all vCPUs of a VM; the
 * host gives each vCPU its role in R11 (and its arguments) with
 * KVM_SET_REGS:
 *	R11 = 0: caller loop like tvm_g64_loop, with a1 = R12:
 *		for (;;) { rax = hypercall(r8, r9, r12); r10++; outb(al); }
 *	R11 = 1: spin in guest mode forever (a running lock holder); no
 *		PAUSE, so that no pause-loop exit yields on its own
 *	R11 = 2: HLT forever with IF = 0 (a halted vCPU: with an in-kernel
 *		irqchip KVM_RUN sleeps until a signal)
 */
	.code64
	.globl tvm_g64_roles, tvm_g64_roles_end
tvm_g64_roles:
	cmp	$1, %r11
	je	2f
	cmp	$2, %r11
	je	3f
1:	mov	%r8, %rax
	mov	%r9, %rbx
	mov	%r12, %rcx
	xor	%edx, %edx
	xor	%esi, %esi
	HCALL
	inc	%r10
	out	%al, $TVM_PORT_DONE
	jmp	1b
2:	inc	%r10
	jmp	2b
3:	hlt
	jmp	3b
tvm_g64_roles_end:

/*
 * Fixed-number call written the way a guest kernel would, 16-bit:
 *	mov $0x50560000, %eax   (PVX_HC_PROBE)
 *	xor %ebx, %ebx          (a0 = 0)
 *	vmmcall
 *	out %al, $0x10
 */
	.code16
	.globl tvm_g16_probe, tvm_g16_probe_end
tvm_g16_probe:
	mov	$0x50560000, %eax
	xor	%ebx, %ebx
	HCALL
	out	%al, $TVM_PORT_DONE
	hlt
tvm_g16_probe_end:

/*
 * Hypercall loop for the microbenchmark, 16-bit real mode: EDI calls of
 * number EBP with a0 = ESP, a1..a3 = 0, all inside one KVM_RUN, then OUT.
 * RBX..RSI are reloaded each time (PROBE writes them); a0 lives in ESP,
 * which neither the loop (no stack) nor a hypercall touches.
 *
 *	do {
 *		eax = hypercall(ebp, esp, 0, 0, 0);
 *	} while (--edi);
 *	outb(TVM_PORT_DONE, al);
 */
	.code16
	.globl tvm_g16_hloop, tvm_g16_hloop_end
tvm_g16_hloop:
1:	mov	%ebp, %eax
	mov	%esp, %ebx
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	HCALL
	dec	%edi
	jnz	1b
	out	%al, $TVM_PORT_DONE
	hlt
tvm_g16_hloop_end:

	.code64
	.section .note.GNU-stack, "", @progbits
